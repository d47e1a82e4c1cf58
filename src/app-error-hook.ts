/**
 * Bun.serve's `error(error)` option on an app object (`export default { fetch, error }`, as written
 * for `bun app.ts`): an error the app's fetch (or one of its routes) throws or rejects with is handed
 * to it, and the Response it gives is the answer, as under Bun.serve. Where it gives none (undefined,
 * or it throws too), the request fails as without the hook: tsuv logs the app's own error and
 * answers 500. An answered error is not logged: the hook took it, as under Bun.
 */
import { isResponseLike } from "./foreign-response.ts";
import type { FetchHandler, RequestInfo } from "./runtime/adapter.ts";

type ErrorHook = (error: unknown) => unknown;

/** `fetch`, with `hook` (called with `holder` as this) answering what it throws. */
export function withErrorHook(fetch: FetchHandler, hook: ErrorHook, holder: object): FetchHandler {
  const recover = async (error: unknown): Promise<Response> => {
    let answer: unknown;
    try {
      answer = await hook.call(holder, error);
    } catch {
      throw error;
    }
    if (isResponseLike(answer)) return answer as Response;
    throw error;
  };
  return (request: Request, info: RequestInfo) => {
    let result: Response | Promise<Response>;
    try {
      result = fetch(request, info);
    } catch (error) {
      return recover(error);
    }
    return result instanceof Promise ? result.catch(recover) : result;
  };
}
