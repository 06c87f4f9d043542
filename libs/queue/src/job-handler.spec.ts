import { assertEveryJobHasOneHandler, HandlesJobs, JobHandlerRegistrationError } from './job-handler.js';
import { JobName } from './queue-names.js';

@HandlesJobs(JobName.SyncAccount)
class SyncProcessor {}

@HandlesJobs(JobName.ParseMessage)
class ParseProcessor {}

@HandlesJobs(JobName.ParseMessage)
class SecondParseProcessor {}

@HandlesJobs(JobName.SendEmail, JobName.SyncDraft)
class SendProcessor {}

@HandlesJobs(JobName.ApplyMessageAction)
class ActionProcessor {}

@HandlesJobs(JobName.ApplyBulkAction)
class BulkActionProcessor {}

@HandlesJobs(JobName.DeliverWebhook)
class WebhookProcessor {}

describe('assertEveryJobHasOneHandler', () => {
  const allJobs = Object.values(JobName);

  it('accepts one handler per job', () => {
    expect(() =>
      assertEveryJobHasOneHandler(allJobs, [
        SyncProcessor,
        ParseProcessor,
        SendProcessor,
        ActionProcessor,
        BulkActionProcessor,
        WebhookProcessor,
      ]),
    ).not.toThrow();
  });

  it('names a job without a handler', () => {
    const attempt = (): void => assertEveryJobHasOneHandler(allJobs, [SyncProcessor]);

    expect(attempt).toThrow(JobHandlerRegistrationError);
    expect(attempt).toThrow('job "parse-message" has no processor');
  });

  it('names a job with two handlers and both classes', () => {
    expect(() =>
      assertEveryJobHasOneHandler(allJobs, [
        SyncProcessor,
        ParseProcessor,
        SecondParseProcessor,
        SendProcessor,
        ActionProcessor,
      ]),
    ).toThrow('job "parse-message" has 2 processors (ParseProcessor, SecondParseProcessor)');
  });
});
