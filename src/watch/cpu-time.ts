/** CPU time this process has used, in ms (user + system): what a watcher's ticks are priced on. */
export function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}
