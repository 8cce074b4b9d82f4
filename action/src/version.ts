/** Version of the Action, reported in its JSON; the same as the package's. */
export { VERSION as ACTION_VERSION } from "../../core/version.js";
