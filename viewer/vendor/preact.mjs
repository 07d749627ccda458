// Stand-in for Deno's tools only: lets `deno check`/`deno lint` resolve the UI's
// "../vendor/preact.mjs" import. The server never serves this file; at
// /vendor/preact.mjs it serves Preact's own browser build from node_modules
// (viewer/_static.ts).
export * from "preact";
