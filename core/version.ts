/** Tool name and version, written into every trace header. */
export const VERSION = "0.1.0";
/** "lockstep <version>". */
export const TOOL = `lockstep ${VERSION}`;
