// Stand-in for Deno's tools only (see preact.mjs next to it); the server
// serves Preact's hooks build at /vendor/hooks.mjs.
export * from "npm:preact@10/hooks";
