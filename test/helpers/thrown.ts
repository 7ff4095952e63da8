/** The error `fn` throws (fails the test when it returns): for asserting an error's class and details together. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw, the call returned');
}
