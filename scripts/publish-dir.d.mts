/** See publish-dir.mjs: moves a finished install from `tmp` to `dir`; the first of concurrent installers wins. */
export function publishDir(tmp: string, dir: string, marker: string): void;
