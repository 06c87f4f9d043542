export interface StreamedEvent {
  id: string | null;
  data: string;
  /** When the event was read off the stream (ms since the epoch). */
  receivedAt: number;
}

/**
 * A server-sent events client over fetch, as a mail client would run one: it collects events and
 * comments as they arrive, and knows when the server ended the stream.
 */
export class EventStreamClient {
  readonly events: StreamedEvent[] = [];
  readonly comments: string[] = [];
  status = 0;
  /** The answer's body when the server refused the stream. */
  body = '';
  ended = false;
  private readonly abort = new AbortController();
  private done: Promise<void> = Promise.resolve();

  static async open(url: string, headers: Record<string, string>): Promise<EventStreamClient> {
    const client = new EventStreamClient();
    const response = await fetch(url, { headers, signal: client.abort.signal });
    client.status = response.status;
    if (!response.ok || !response.body) {
      client.ended = true;
      client.body = await response.text();
      return client;
    }
    client.done = client.consume(response.body);
    return client;
  }

  /** Resolves once `count` events have arrived (throws after `timeoutMs`). */
  async waitForEvents(count: number, timeoutMs = 5_000): Promise<StreamedEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.length < count) {
      if (Date.now() > deadline) throw new Error(`${this.events.length} of ${count} events after ${timeoutMs} ms`);
      if (this.ended) throw new Error(`the stream ended after ${this.events.length} of ${count} events`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.events.slice(0, count);
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.done;
  }

  /** Resolves when the server ends the stream. */
  async finished(): Promise<void> {
    await this.done;
  }

  private async consume(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for await (const chunk of body) {
        buffered += decoder.decode(chunk, { stream: true });
        let boundary = buffered.indexOf('\n\n');
        while (boundary >= 0) {
          this.parse(buffered.slice(0, boundary));
          buffered = buffered.slice(boundary + 2);
          boundary = buffered.indexOf('\n\n');
        }
      }
    } catch {
      // Aborted by close().
    } finally {
      this.ended = true;
    }
  }

  private parse(block: string): void {
    let id: string | null = null;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
      else if (line.startsWith('id: ')) id = line.slice(4);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length > 0) this.events.push({ id, data: data.join('\n'), receivedAt: Date.now() });
  }
}
