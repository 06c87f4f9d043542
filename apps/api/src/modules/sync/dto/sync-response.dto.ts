import { ApiProperty } from '@nestjs/swagger';

export class SyncAcceptedDto {
  @ApiProperty({ description: 'The queue job running (or about to run) the sync' })
  jobId!: string;

  @ApiProperty({ format: 'uuid', description: 'The sync run record; see GET /api/sync/status/{accountId}' })
  syncRunId!: string;

  @ApiProperty({
    description: 'False when a sync of the account was already queued or running and is returned instead',
  })
  created!: boolean;
}

export class SyncErrorDto {
  @ApiProperty()
  message!: string;

  @ApiProperty({ format: 'date-time' })
  at!: string;
}

export class FolderStatusDto {
  @ApiProperty({ example: 'INBOX' })
  path!: string;

  @ApiProperty({
    nullable: true,
    enum: ['inbox', 'drafts', 'sent', 'trash', 'junk', 'archive', 'all', 'flagged'],
    type: String,
  })
  role!: string | null;

  @ApiProperty({ description: "Messages on the server when the folder's latest sync began" })
  total!: number;

  @ApiProperty({ description: 'Messages stored for the folder; grows batch by batch while a sync runs' })
  synced!: number;

  @ApiProperty({
    description:
      "True once the folder's 50 newest messages (as of its latest sync's start) are stored, or all of them if it has fewer: a sync stores the newest mail first, so the first page of GET /api/messages?folder= is complete while older mail is still arriving. False before the folder's first sync",
  })
  newestComplete!: boolean;

  @ApiProperty({ nullable: true, type: String, description: 'IMAP UIDVALIDITY (a 32-bit number, as a string)' })
  uidValidity!: string | null;

  @ApiProperty({
    type: String,
    description: 'Highest UID stored; while a first sync runs, older UIDs below it may still be missing',
  })
  lastUid!: string;

  @ApiProperty({
    nullable: true,
    type: String,
    description: 'CONDSTORE HIGHESTMODSEQ (a 63-bit number, as a string); null without CONDSTORE',
  })
  highestModseq!: string | null;

  @ApiProperty({ nullable: true, type: String, format: 'date-time' })
  lastSyncedAt!: string | null;

  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Why the last sync of this folder failed; null once it syncs again',
  })
  lastError!: string | null;

  @ApiProperty({ nullable: true, type: String, format: 'date-time' })
  lastErrorAt!: string | null;

  @ApiProperty({ description: 'Consecutive failed syncs of this folder' })
  failureCount!: number;

  @ApiProperty({
    nullable: true,
    type: String,
    format: 'date-time',
    description:
      'While in the future, scheduled syncs skip this folder (exponential backoff after failures); a manual sync still tries it',
  })
  nextSyncAfter!: string | null;
}

export class LastRunDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ enum: ['queued', 'running', 'succeeded', 'failed'] })
  state!: string;

  @ApiProperty({ enum: ['manual', 'schedule', 'push'] })
  trigger!: string;

  @ApiProperty({ nullable: true, type: String, format: 'date-time' })
  startedAt!: string | null;

  @ApiProperty({ nullable: true, type: String, format: 'date-time' })
  finishedAt!: string | null;

  @ApiProperty({ nullable: true, type: String })
  error!: string | null;

  @ApiProperty({
    nullable: true,
    type: Object,
    example: { foldersSynced: 6, messagesAdded: 120, messagesUpdated: 3, messagesRemoved: 1 },
  })
  stats!: Record<string, number> | null;
}

export class WatchStatusDto {
  @ApiProperty({
    enum: ['watching', 'polling', 'backoff', 'off'],
    description:
      'watching: INBOX is in IMAP IDLE and new mail is synced within seconds; polling: checked every WATCH_POLL_SECONDS (server without IDLE, or the worker is at WATCH_MAX_CONNECTIONS); backoff: the connection was lost and is being re-established; off: not watched (login refused, account inactive)',
  })
  state!: 'watching' | 'polling' | 'backoff' | 'off';

  @ApiProperty({ type: String, format: 'date-time', description: 'When the watch entered this state' })
  since!: string;

  @ApiProperty({
    nullable: true,
    type: String,
    format: 'date-time',
    description: 'When the server last reported a change in INBOX',
  })
  lastEventAt!: string | null;

  @ApiProperty({
    nullable: true,
    type: String,
    description: "Why the watch is off or reconnecting (the server's reason)",
  })
  lastError!: string | null;
}

export class SyncStatusDto {
  @ApiProperty({ format: 'uuid' })
  accountId!: string;

  @ApiProperty({ enum: ['idle', 'queued', 'running', 'failed'] })
  state!: string;

  @ApiProperty({ nullable: true, type: String, format: 'date-time', description: 'Last successful sync' })
  lastSyncedAt!: string | null;

  @ApiProperty({ nullable: true, type: SyncErrorDto })
  lastError!: SyncErrorDto | null;

  @ApiProperty({ type: [FolderStatusDto] })
  folders!: FolderStatusDto[];

  @ApiProperty({ description: 'Messages stored for the account' })
  messageCount!: number;

  @ApiProperty({ description: 'Consecutive failed syncs of the account (login refused, server unreachable)' })
  failureCount!: number;

  @ApiProperty({
    nullable: true,
    type: String,
    format: 'date-time',
    description:
      'While in the future, scheduled syncs skip the account (exponential backoff after failures); a manual sync still runs',
  })
  nextSyncAfter!: string | null;

  @ApiProperty({ nullable: true, type: LastRunDto })
  lastRun!: LastRunDto | null;

  @ApiProperty({
    nullable: true,
    type: WatchStatusDto,
    description: 'The live IMAP watch of the account (push of new mail); null if it was never watched',
  })
  watch!: WatchStatusDto | null;
}
