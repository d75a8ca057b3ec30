// Error text helpers shared by reconcile, daemon and CLI.
export function errMessage(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  // One line: multi-line messages (config issues) are joined.
  return m.split('\n').join('; ');
}
