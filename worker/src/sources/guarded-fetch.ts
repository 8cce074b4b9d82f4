/**
 * The fetch URL sources use: redirects are followed by hand so that each target passes the same
 * URL policy as the URL the client gave (a public URL must not redirect into a private network).
 */
import { checkSourceUrl } from "./url-policy.js";

const MAX_REDIRECTS = 5;

export function guardedFetch(allowPrivate: boolean): typeof fetch {
  return async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    let url = input instanceof Request ? input.url : String(input);
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const response = await fetch(url, { ...init, redirect: "manual" });
      const location = response.headers.get("location");
      if (response.status < 300 || response.status > 399 || location === null) return response;
      url = checkSourceUrl(new URL(location, url).href, allowPrivate).href;
    }
    throw new Error(`${url}: more than ${MAX_REDIRECTS} redirects`);
  };
}
