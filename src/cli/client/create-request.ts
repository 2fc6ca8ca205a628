import { readdir, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { ClientError, type Message } from "./api.ts";
import type { ModelfileCommand } from "./modelfile.ts";
import { DEPRECATED_PARAMETERS, parameterValue, type ParameterValue } from "./parameters.ts";

/** The body of Ollama's POST /api/create, less the model name. */
export interface CreateRequest {
  from?: string;
  files?: Record<string, string>;
  adapters?: Record<string, string>;
  template?: string;
  system?: string;
  license?: string[];
  parameters?: Record<string, ParameterValue>;
  messages?: Message[];
  renderer?: string;
  parser?: string;
  requires?: string;
}

/** A local file the request names by digest, to upload first. */
export interface Upload {
  path: string;
  digest: string;
  size: number;
}

/** Go's semver (golang.org/x/mod/semver) without its "v": 1, 1.2, 1.2.3, 1.2.3-rc.1+build. */
const SEMVER = /^\d+(\.\d+(\.\d+(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?)?)?$/;

/** A Modelfile path: absolute, from the home folder (`~/…`), or relative to the Modelfile's folder. */
function expandPath(path: string, relativeDir: string): string {
  if (isAbsolute(path)) return resolve(path);
  if (path === "~" || path.startsWith("~/")) return join(homedir(), path.slice(1));
  return resolve(relativeDir, path);
}

async function sha256(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk);
  return `sha256:${hasher.digest("hex")}`;
}

/** The GGUF files a path names: the file itself, or those in the folder. */
async function modelFiles(path: string): Promise<string[] | undefined> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return undefined;
  if (!info.isDirectory()) return [path];
  const ggufs = (await readdir(path)).filter((f) => f.endsWith(".gguf")).sort();
  if (ggufs.length === 0) throw new ClientError(`no .gguf files in ${path}`);
  return ggufs.map((f) => join(path, f));
}

/** The names files go by in the request: the file name, or with several, the path below the folder they share. */
function fileNames(paths: string[]): string[] {
  if (paths.length < 2) return paths.map((p) => basename(p));
  let root = dirname(paths[0]!);
  while (!paths.every((p) => !relative(root, p).startsWith(".."))) root = dirname(root);
  return paths.map((p) => relative(root, p).split("\\").join("/"));
}

/**
 * Turns a parsed Modelfile into Ollama's create request, as `ollama create` does: FROM a path
 * that exists is a local model to upload (by digest), any other FROM names a model; repeated
 * PARAMETERs such as stop gather into a list, the others are typed.
 */
export async function createRequest(commands: ModelfileCommand[], relativeDir: string, warn: (message: string) => void): Promise<{ request: CreateRequest; uploads: Upload[] }> {
  const request: CreateRequest = {};
  const modelPaths: string[] = [];
  const adapterPaths: string[] = [];
  const licenses: string[] = [];
  const messages: Message[] = [];
  const parameters: Record<string, ParameterValue> = {};

  for (const command of commands) {
    switch (command.name) {
      case "model": {
        const files = await modelFiles(expandPath(command.args, relativeDir));
        if (files) modelPaths.push(...files);
        else request.from = command.args;
        break;
      }
      case "adapter": {
        const path = expandPath(command.args, relativeDir);
        const files = await modelFiles(path);
        if (!files) throw new ClientError(`ADAPTER ${command.args}: no such file or folder (${path})`);
        adapterPaths.push(...files);
        break;
      }
      case "draft":
        throw new ClientError("DRAFT (speculative decoding) models are not supported by hearth");
      case "license":
        licenses.push(command.args);
        break;
      case "message":
        messages.push({ role: command.role, content: command.args });
        break;
      case "requires": {
        const version = command.args.replace(/^v/, "");
        if (!SEMVER.test(version)) throw new ClientError("requires must be a valid semver (e.g. 0.14.0)");
        request.requires = version;
        break;
      }
      case "parameter": {
        if (DEPRECATED_PARAMETERS.has(command.parameter)) {
          warn(`warning: parameter ${command.parameter} is deprecated`);
          break;
        }
        const value = parameterValue(command.parameter, [command.args]);
        const previous = parameters[command.parameter];
        parameters[command.parameter] = Array.isArray(previous) && Array.isArray(value) ? [...previous, ...value] : value;
        break;
      }
      default:
        request[command.name] = command.args;
    }
  }

  const uploads: Upload[] = [];
  const byDigest = async (paths: string[]): Promise<Record<string, string> | undefined> => {
    if (paths.length === 0) return undefined;
    const names = fileNames(paths);
    const entries: Record<string, string> = {};
    for (const [i, path] of paths.entries()) {
      const digest = await sha256(path);
      entries[names[i]!] = digest;
      uploads.push({ path, digest, size: (await stat(path)).size });
    }
    return entries;
  };
  const files = await byDigest(modelPaths);
  if (files) request.files = files;
  const adapters = await byDigest(adapterPaths);
  if (adapters) request.adapters = adapters;
  if (licenses.length > 0) request.license = licenses;
  if (messages.length > 0) request.messages = messages;
  if (Object.keys(parameters).length > 0) request.parameters = parameters;
  return { request, uploads };
}
