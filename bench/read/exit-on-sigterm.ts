/**
 * Preloaded (`--import`) into profiled bench servers (API and baseline): SIGTERM ends the process with a normal
 * exit, the only way Node writes the profile `--cpu-prof` collects. A cluster worker whose primary
 * exits this way is disconnected and exits normally too.
 */
process.once('SIGTERM', () => {
  process.exit(0);
});
