import { request as httpRequest } from 'node:http';
import type { IncomingMessage, RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';

import { Injectable } from '@nestjs/common';

import { OutboundRefusedError } from '../errors.js';
import { OutboundPolicy } from './outbound-policy.js';
import type { OutboundTarget } from './outbound-policy.js';

/** What one POST came to: an HTTP status, or why there was none. */
export type PolicyPostResult =
  { kind: 'answered'; status: number; durationMs: number } | { kind: 'failed'; error: string; durationMs: number };

/** An HTTP answer read in full (a token endpoint's JSON). */
export interface PolicyHttpAnswer {
  status: number;
  body: string;
}

/** A receiver's answer is read only to free the socket (or, by `exchange`, parsed); more than this is cut off. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * Every lookup of the connection answers the address the policy checked, so the name is resolved
 * once: a DNS answer that changes after the check (rebinding) cannot redirect the request.
 */
function pinnedLookup(target: OutboundTarget): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
}

function describeFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof OutboundRefusedError) return `refused by the outbound policy: ${error.reason}`;
  if (error instanceof Error && error.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`;
  if (error instanceof Error && 'code' in error && typeof error.code === 'string')
    return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * HTTP POSTs to addresses tenants name (webhook endpoints, unsubscribe links). The host passes
 * OutboundPolicy at every request (a check made earlier may no longer hold) and the connection
 * goes to the address it checked; redirects are not followed, and the whole request — lookup,
 * connect, TLS, answer — ends after `timeoutMs`.
 */
@Injectable()
export class PolicyHttpClient {
  constructor(private readonly policy: OutboundPolicy) {}

  async post(
    rawUrl: string,
    body: string,
    headers: Record<string, string>,
    timeoutMs: number,
  ): Promise<PolicyPostResult> {
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const url = new URL(rawUrl);
      const target = await this.policy.resolveUrl(url);
      signal.throwIfAborted();
      const { status } = await this.send('POST', url, target, body, headers, signal);
      return { kind: 'answered', status, durationMs: elapsed() };
    } catch (error: unknown) {
      return {
        kind: 'failed',
        error: describeFailure(signal.aborted ? signal.reason : error, timeoutMs),
        durationMs: elapsed(),
      };
    }
  }

  /**
   * One request whose answer the caller reads (up to 64 KiB), under the same rules as `post`.
   * Rejects with OutboundRefusedError, a socket error, or a TimeoutError after `timeoutMs`.
   */
  async exchange(
    method: 'GET' | 'POST',
    rawUrl: string,
    body: string,
    headers: Record<string, string>,
    timeoutMs: number,
  ): Promise<PolicyHttpAnswer> {
    const signal = AbortSignal.timeout(timeoutMs);
    const url = new URL(rawUrl);
    const target = await this.policy.resolveUrl(url);
    signal.throwIfAborted();
    return this.send(method, url, target, body, headers, signal);
  }

  private async send(
    method: 'GET' | 'POST',
    url: URL,
    target: OutboundTarget,
    body: string,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<PolicyHttpAnswer> {
    const options: RequestOptions & { servername?: string } = {
      method,
      headers: method === 'POST' ? { ...headers, 'content-length': String(Buffer.byteLength(body)) } : headers,
      lookup: pinnedLookup(target),
      // A connection of its own per attempt: a pooled socket would outlive the check it passed.
      agent: false,
      signal,
    };
    if (url.protocol === 'https:' && target.servername) options.servername = target.servername;
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<PolicyHttpAnswer>((resolve, reject) => {
      const outgoing = request(url, options, (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let received = 0;
        response.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > MAX_RESPONSE_BYTES) response.destroy();
          else chunks.push(chunk);
        });
        const answer = (): void =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        response.on('close', answer);
        response.on('error', answer);
      });
      outgoing.on('error', reject);
      outgoing.end(method === 'POST' ? body : undefined);
    });
  }
}
