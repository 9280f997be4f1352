/** `node:url` for the browser bundle: file URLs map to the in-memory file system's paths. */
export function fileURLToPath(url: string | URL): string {
  return decodeURIComponent(new URL(String(url)).pathname);
}

export function pathToFileURL(path: string): URL {
  return new URL('file://' + encodeURI(path.startsWith('/') ? path : '/' + path));
}

export default { fileURLToPath, pathToFileURL, URL };
export { URL };
