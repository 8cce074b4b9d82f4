import { describe, expect, it } from "vitest";
import { parseJson, stringifyJson } from "../core/json.js";

describe("report JSON", () => {
  it("writes non-finite numbers as weightwatcher's oracle does and reads them back", () => {
    const record = { name: "Infinity", warning: "", log_alpha_norm: Infinity, lambda_max: -Infinity, entropy: NaN, alpha: 2.5 };
    const text = stringifyJson(record);
    expect(text).toBe('{"name":"Infinity","warning":"","log_alpha_norm":"Infinity","lambda_max":"-Infinity","entropy":null,"alpha":2.5}');
    expect(parseJson(text)).toEqual({ name: "Infinity", warning: "", log_alpha_norm: Infinity, lambda_max: -Infinity, entropy: null, alpha: 2.5 });
  });
});
