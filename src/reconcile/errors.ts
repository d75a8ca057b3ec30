// Failures of the manager that are neither config syntax (ConfigError) nor a
// raw kernel refusal (BpfError), each with the exit code the CLI uses.
export class ManagerError extends Error {
  override readonly name = 'ManagerError';
  /** 1: the request or the file is wrong; 2: the system is not as needed. */
  constructor(message: string, readonly exitCode: 1 | 2, options?: ErrorOptions) {
    super(message, options);
  }
}

export const usage = (message: string): ManagerError => new ManagerError(message, 1);
export const system = (message: string, cause?: unknown): ManagerError => new ManagerError(message, 2, cause === undefined ? undefined : { cause });
