// Reconcile: config or live edit → desired map contents → diff against the
// live kernel maps → make-before-break apply with rollback.
export * from './apply.js';
export * from './ageing.js';
export * from './attach.js';
export * from './describe.js';
export * from './desired.js';
export * from './diff.js';
export * from './edits.js';
export * from './errors.js';
export * from './fault.js';
export * from './load.js';
export * from './manager.js';
export * from './model.js';
export * from './pindir.js';
export * from './pinkeeper.js';
export * from './state.js';
export * from './store.js';
export * from './tcmode.js';
export * from './text.js';
