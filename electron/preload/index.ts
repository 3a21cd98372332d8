/**
 * The sandboxed preload. Guarantees: the page gets one frozen object, `window.tollgate`, holding
 * startup values (control API URL and token); it never gets `ipcRenderer`, Node, or any function
 * that reaches the main process. Everything else goes through the control API like any client.
 */

import { contextBridge } from 'electron';
import { parseStartupArguments } from './startup-args.ts';

const api = parseStartupArguments(process.argv);
if (api) contextBridge.exposeInMainWorld('tollgate', Object.freeze({ ...api }));
