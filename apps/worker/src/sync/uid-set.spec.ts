import { chunk, groupBySize, toUidSet } from './uid-set.js';

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
