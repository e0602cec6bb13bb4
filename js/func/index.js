// torch.func (reverse mode, functionalCall and compile) and the deprecated
// torch.nn.utils.stateless. install(torch) adds them to the namespace.
import { functionalCall, statelessFunctionalCall } from './functional_call.js';
import { grad, gradAndValue, vjp, env } from './grad.js';
import { compile } from './compile.js';

/**
 * Installs torch.func and torch.nn.utils.stateless (torch.nn and
 * torch.nn.utils are created if absent, never replaced).
 * @param {object} torch the namespace being built by js/index.js
 */
export function install(torch) {
  env.torch = torch;
  const func = (torch.func = torch.func ?? {});
  Object.assign(func, { functionalCall, grad, gradAndValue, vjp, compile });
  const nn = (torch.nn = torch.nn ?? {});
  const utils = (nn.utils = nn.utils ?? {});
  utils.stateless = Object.assign(utils.stateless ?? {}, { functionalCall: statelessFunctionalCall });
}

export { functionalCall, statelessFunctionalCall, grad, gradAndValue, vjp, compile };
