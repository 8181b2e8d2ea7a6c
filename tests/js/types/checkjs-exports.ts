// The JS implementation (js/api.js, inferred by checkJs) must be assignable to what js/index.d.ts
// declares: a renamed method, a missing export or a changed return shape fails the type check.
import * as impl from '../../../js/api.js';
import type * as decl from '../../../js/index.js';

type Declared = Pick<typeof decl, 'open' | 'validateEvent' | 'getValidator' | 'loadModule' | 'createModuleInstance' |
  'DataCollectError' | 'ErrorCodes' | 'SyncLevel'>;
export const implementationMatchesDeclarations: Declared = impl;
