/** memory3-web: the npm entry. Re-exports the public API only. */
export * from './api/index';
