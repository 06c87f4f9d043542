import { chunk, groupBySize, growingChunks, missingUidSet, toUidSet } from './uid-set.js';

describe('toUidSet', () => {
  it('compresses runs into ranges, in ascending order', () => {
    expect(toUidSet([7, 1, 2, 3, 5, 9, 10])).toBe('1:3,5,7,9:10');
    expect(toUidSet([4])).toBe('4');
    expect(toUidSet([])).toBe('');
  });
});

describe('groupBySize', () => {
  it('bounds each group by bytes and count, keeping an oversized item alone', () => {
    const sut = groupBySize([5, 5, 5, 20, 1, 1, 1], (size) => size, 10, 2);

    expect(sut).toEqual([[5, 5], [5], [20], [1, 1], [1]]);
  });
});

describe('chunk', () => {
  it('splits into pieces of at most the given size', () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
  });
});

describe('growingChunks', () => {
  it('starts small and doubles up to the maximum', () => {
    const sut = growingChunks(
      Array.from({ length: 20 }, (_, index) => index),
      2,
      5,
    );

    expect(sut.map((part) => part.length)).toEqual([2, 4, 5, 5, 4]);
    expect(sut.flat()).toEqual(Array.from({ length: 20 }, (_, index) => index));
  });
});

describe('missingUidSet', () => {
  it('names the gaps between stored ranges and everything above the last one', () => {
    expect(missingUidSet([])).toBe('1:*');
    expect(missingUidSet([{ first: 1, last: 100 }])).toBe('101:*');
    expect(
      missingUidSet([
        { first: 3, last: 10 },
        { first: 12, last: 20 },
        { first: 30, last: 40 },
      ]),
    ).toBe('1:2,11,21:29,41:*');
  });
});
