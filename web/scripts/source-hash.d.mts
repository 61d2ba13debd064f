// Types of source-hash.mjs for its test.
export function sources(web?: string): [string, string][];
export function manifest(web?: string): string;
export function sourceHash(web?: string): string;
