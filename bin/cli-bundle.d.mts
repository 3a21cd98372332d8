/** The project root. */
export declare const ROOT: string;

/** See cli-bundle.mjs: the built entry's absolute path, or null when it cannot be built. */
export declare function freshBundle(entry: string, outDir: string): Promise<string | null>;
