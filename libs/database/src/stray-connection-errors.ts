import { Injectable, Logger } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type pg from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver.js';

/**
 * node-postgres emits a connection's failure (PostgreSQL terminating it, a reset socket) as an
 * 'error' event, and an event nobody listens to ends the process. Whoever holds a connection
 * listens while holding it, but a failure can also be reported in the moment it is handed back to
 * the pool, and a restarting database must not take a worker down with it. Every pooled
 * connection gets a listener of its own that logs; the statements that were running fail as ever.
 */
@Injectable()
export class StrayConnectionErrors implements OnModuleInit {
  private readonly logger = new Logger('Database');

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private readonly guarded = new WeakSet<pg.PoolClient>();

  onModuleInit(): void {
    const pool = (this.dataSource.driver as PostgresDriver).master as pg.Pool;
    // 'acquire' also reaches the connection TypeORM opened to check the server, before this ran.
    pool.on('connect', (client) => this.guard(client));
    pool.on('acquire', (client) => this.guard(client));
  }

  private guard(client: pg.PoolClient): void {
    if (this.guarded.has(client)) return;
    this.guarded.add(client);
    client.on('error', (error: Error) => {
      this.logger.warn({ reason: error.message }, 'A database connection failed outside a statement');
    });
  }
}
