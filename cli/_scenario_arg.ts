/**
 * Whether a command-line scenario argument names a file (a user's module)
 * rather than a built-in scenario. Apart from cli/_scenario.ts, whose
 * node: imports (crypto, path, url) cost an exploration worker about 90 ms
 * to start: a worker exploring a built-in scenario never loads them.
 * @module
 */

/** True when the argument names a file rather than a built-in scenario. */
export function isModuleArg(arg: string): boolean {
  return /\.(m?ts|m?js|tsx|jsx)$/.test(arg) || arg.includes("/") || arg.includes("\\");
}
