/** alphawatch's version, reported in every Report's `tool.version`. Keep in step with package.json. */
export const VERSION = "0.1.0";
