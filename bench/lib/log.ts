/** A progress line sink: the bench page's console-and-page log, or a driver's terminal. */
export type BenchLog = (line: string) => void;
