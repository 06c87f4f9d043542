import { assertEveryJobHasOneHandler, HandlesJobs, JobHandlerRegistrationError } from './job-handler.js';
import { JobName } from './queue-names.js';

@HandlesJobs(JobName.SyncAccount)
class SyncProcessor {}

@HandlesJobs(JobName.SendEmail, JobName.ParseMessage)
class MailProcessor {}

@HandlesJobs(JobName.SendEmail)
class SecondSendProcessor {}

describe('assertEveryJobHasOneHandler', () => {
  const allJobs = Object.values(JobName);

  it('accepts one handler per job', () => {
    expect(() => assertEveryJobHasOneHandler(allJobs, [SyncProcessor, MailProcessor])).not.toThrow();
  });

  it('names a job without a handler', () => {
    const attempt = (): void => assertEveryJobHasOneHandler(allJobs, [SyncProcessor]);

    expect(attempt).toThrow(JobHandlerRegistrationError);
    expect(attempt).toThrow('job "send-email" has no processor; job "parse-message" has no processor');
  });

  it('names a job with two handlers and both classes', () => {
    expect(() => assertEveryJobHasOneHandler(allJobs, [SyncProcessor, MailProcessor, SecondSendProcessor])).toThrow(
      'job "send-email" has 2 processors (MailProcessor, SecondSendProcessor)',
    );
  });
});
