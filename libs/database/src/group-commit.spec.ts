import { GroupCommit } from './group-commit.js';

function deferred(): { promise: Promise<void>; release(): void } {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, release };
}

describe('GroupCommit', () => {
  it('serves the first caller at once and batches the callers that arrive meanwhile', async () => {
    const batches: number[][] = [];
    const gate = deferred();
    const sut = new GroupCommit<number, number>(async (_key, items) => {
      batches.push(items);
      if (batches.length === 1) await gate.promise;
      return items.map((item) => item * 10);
    });

    const first = sut.submit('t1', 1);
    const later = [sut.submit('t1', 2), sut.submit('t1', 3), sut.submit('t1', 4)];
    gate.release();

    await expect(first).resolves.toBe(10);
    await expect(Promise.all(later)).resolves.toEqual([20, 30, 40]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it('keeps keys apart, so one tenant never shares a transaction with another', async () => {
    const batches: string[] = [];
    const sut = new GroupCommit<number, number>((key, items) => {
      batches.push(`${key}:${items.join(',')}`);
      return Promise.resolve(items);
    });

    await Promise.all([sut.submit('a', 1), sut.submit('b', 2), sut.submit('a', 3)]);

    expect(batches).toEqual(['a:1', 'b:2', 'a:3']);
  });

  it('rejects every caller of a failed batch and carries on with the next', async () => {
    const gate = deferred();
    let calls = 0;
    const sut = new GroupCommit<number, number>(async (_key, items) => {
      calls += 1;
      if (calls === 1) await gate.promise;
      if (calls === 2) throw new Error('write failed');
      return items;
    });

    const first = sut.submit('k', 1);
    const failing = [sut.submit('k', 2), sut.submit('k', 3)];
    gate.release();
    await first;
    const settled = await Promise.allSettled(failing);

    expect(settled.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    await expect(sut.submit('k', 4)).resolves.toBe(4);
  });

  it('splits a long queue into batches of at most maxBatch', async () => {
    const sizes: number[] = [];
    const gate = deferred();
    const sut = new GroupCommit<number, number>(
      async (_key, items) => {
        sizes.push(items.length);
        if (sizes.length === 1) await gate.promise;
        return items;
      },
      { maxBatch: 2 },
    );

    const all = [1, 2, 3, 4, 5, 6].map((item) => sut.submit('k', item));
    gate.release();
    await Promise.all(all);

    expect(sizes).toEqual([1, 2, 2, 1]);
  });

  it('writes the items of a failed batch one by one when it can, so only the bad item fails', async () => {
    const gate = deferred();
    const batches: number[][] = [];
    const sut = new GroupCommit<number, number>(
      async (_key, items) => {
        batches.push(items);
        if (batches.length === 1) await gate.promise;
        if (items.includes(3)) throw new Error('one bad item');
        return items;
      },
      { writeOne: (_key, item) => (item === 3 ? Promise.reject(new Error('bad item')) : Promise.resolve(item * 100)) },
    );
    const first = sut.submit('k', 1);
    const later = [2, 3, 4].map((item) => sut.submit('k', item));
    gate.release();
    await first;
    const settled = await Promise.allSettled(later);
    expect(settled.map((result) => (result.status === 'fulfilled' ? result.value : 'rejected'))).toEqual([
      200,
      'rejected',
      400,
    ]);
  });
});
