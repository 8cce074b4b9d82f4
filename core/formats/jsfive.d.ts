/**
 * The parts of jsfive 0.4.2 (pure-JS HDF5 reader, no bundled types) that the Keras reader uses.
 * Values are typed `unknown` where the file decides them; the reader checks them.
 */
declare module "jsfive" {
  export class Group {
    readonly name: string;
    readonly keys: string[];
    readonly attrs: Record<string, unknown>;
    get(path: string): Group | Dataset;
  }
  export class File extends Group {
    constructor(buffer: ArrayBuffer, filename?: string);
  }
  export class Dataset {
    readonly name: string;
    readonly shape: unknown;
    readonly dtype: unknown;
    readonly value: unknown;
    readonly attrs: Record<string, unknown>;
    readonly _dataobjects: { readonly filter_pipeline: unknown };
  }
}
