import { AppProcess } from './app-process.js';

type BackgroundApp = 'worker' | 'scheduler';
const PORT_VARIABLE: Record<BackgroundApp, string> = {
  worker: 'WORKER_HEALTH_PORT',
  scheduler: 'SCHEDULER_HEALTH_PORT',
};

/** The built worker or scheduler with its health listener on a free port. */
export class BackgroundAppProcess extends AppProcess {
  static async start(app: BackgroundApp, overrides: Record<string, string> = {}): Promise<BackgroundAppProcess> {
    return AppProcess.spawn((...parts) => new BackgroundAppProcess(...parts), {
      app,
      portVariable: PORT_VARIABLE[app],
      environment: overrides,
      stopTimeoutMs: 15_000,
    });
  }

  async get(path: string): Promise<{ statusCode: number; contentType: string; body: string }> {
    const response = await fetch(`${this.baseUrl}${path}`);
    return {
      statusCode: response.status,
      contentType: response.headers.get('content-type') ?? '',
      body: await response.text(),
    };
  }
}
