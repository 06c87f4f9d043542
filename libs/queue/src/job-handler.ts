import 'reflect-metadata';

import type { JobName } from './queue-names.js';

const HANDLED_JOBS = Symbol('handledJobs');

type AnyClass = abstract new (...args: never[]) => unknown;

/** Declares which job names a processor class consumes; read by `assertEveryJobHasOneHandler`. */
export function HandlesJobs(...names: JobName[]): ClassDecorator {
  return (target) => {
    Reflect.defineMetadata(HANDLED_JOBS, names, target);
  };
}

export function handledJobs(processor: AnyClass): JobName[] {
  return (Reflect.getMetadata(HANDLED_JOBS, processor) as JobName[] | undefined) ?? [];
}

export class JobHandlerRegistrationError extends Error {}

/**
 * Fails fast when a job would sit in its queue forever (no handler) or be consumed by two
 * classes racing each other (two handlers).
 */
export function assertEveryJobHasOneHandler(allJobs: readonly JobName[], processors: readonly AnyClass[]): void {
  const owners = new Map<JobName, string[]>();
  for (const processor of processors) {
    for (const name of handledJobs(processor)) owners.set(name, [...(owners.get(name) ?? []), processor.name]);
  }
  const problems = allJobs.flatMap((name) => {
    const found = owners.get(name) ?? [];
    if (found.length === 0) return [`job "${name}" has no processor`];
    if (found.length > 1) return [`job "${name}" has ${found.length} processors (${found.join(', ')})`];
    return [];
  });
  const unknown = [...owners.keys()].filter((name) => !allJobs.includes(name));
  problems.push(...unknown.map((name) => `processor handles unknown job "${name}"`));
  if (problems.length > 0) throw new JobHandlerRegistrationError(`Refusing to start: ${problems.join('; ')}`);
}
