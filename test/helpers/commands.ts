/** Vitest browser commands: code that runs in Node on behalf of a browser test. */
export const browserCommands = {};
