import type { MessageStructureObject } from 'imapflow';

export interface StructureAttachment {
  /** BODYSTRUCTURE section number, enough to FETCH BODY[part] later (RFC 3501 section 6.4.5). */
  partId: string;
  filename: string | null;
  contentType: string;
  /** Size on the wire (transfer-encoded octets), as the server reports it. */
  encodedSize: number;
  /** Approximate decoded size: base64 carries 3 bytes per 4 characters, line breaks aside. */
  size: number;
  contentId: string | null;
  inline: boolean;
  encoding: string | null;
}

function decodedSize(node: MessageStructureObject): number {
  const size = node.size ?? 0;
  if ((node.encoding ?? '').toLowerCase() !== 'base64') return size;
  // 76-character lines plus CRLF (RFC 2045 section 6.8).
  return Math.floor(((size * 76) / 78) * 0.75);
}

function filenameOf(node: MessageStructureObject): string | null {
  return node.dispositionParameters?.filename ?? node.parameters?.name ?? null;
}

/**
 * Attachments as the server's BODYSTRUCTURE describes them: leaves that are not the message's
 * readable text. A text part counts as an attachment only with an attachment disposition or a
 * file name; an attached message/rfc822 counts as one attachment and is not descended into.
 */
export function attachmentsOfStructure(root: MessageStructureObject | undefined): StructureAttachment[] {
  if (!root) return [];
  const found: StructureAttachment[] = [];
  const visit = (node: MessageStructureObject, parentType: string | null): void => {
    const type = node.type.toLowerCase();
    if (type.startsWith('multipart/')) {
      for (const child of node.childNodes ?? []) visit(child, type);
      return;
    }
    const disposition = (node.disposition ?? '').toLowerCase();
    const filename = filenameOf(node);
    const isAttachment = disposition === 'attachment' || filename !== null || !type.startsWith('text/');
    if (!isAttachment) return;
    found.push({
      partId: node.part ?? '1',
      filename,
      contentType: type,
      encodedSize: node.size ?? 0,
      size: decodedSize(node),
      contentId: node.id ?? null,
      inline:
        disposition === 'inline' || (disposition === '' && node.id !== undefined && parentType === 'multipart/related'),
      encoding: node.encoding ?? null,
    });
  };
  visit(root, null);
  return found;
}
