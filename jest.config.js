/**
 * Three depths: unit (*.spec.ts, no I/O), integration (*.integration-spec.ts) and e2e
 * (*.e2e-spec.ts), plus fault cases (test/faults/*.fault-spec.ts). All but unit share one
 * environment per run: a fresh PostgreSQL database, a Redis key prefix and a private
 * Dovecot/Postfix, all removed afterwards (test/setup).
 */
const shared = {
  rootDir: import.meta.dirname,
  extensionsToTreatAsEsm: ['.ts'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.json' }] },
  moduleNameMapper: {
    '^@app/(\\w+)$': '<rootDir>/libs/$1/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testEnvironment: 'node',
};

const withServices = {
  ...shared,
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
};

export default {
  // Integration and e2e hooks start real processes and servers; jest only honours this at the top level.
  testTimeout: 60_000,
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs,test,bench}/**/*.spec.ts'] },
    { ...withServices, displayName: 'integration', testMatch: ['<rootDir>/{apps,libs,test}/**/*.integration-spec.ts'] },
    { ...withServices, displayName: 'e2e', testMatch: ['<rootDir>/{apps,test}/**/*.e2e-spec.ts'] },
    // Faults against real processes: each case breaks a dependency and prints what it measured.
    { ...withServices, displayName: 'faults', testMatch: ['<rootDir>/test/faults/**/*.fault-spec.ts'] },
  ],
};
