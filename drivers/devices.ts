/**
 * Devices and external hosts a scenario can attach to a network stack: a
 * multi-queue NIC with Toeplitz RSS and interrupt moderation, TCP and UDP
 * sources and sinks on the far side of a link, and the RSS hash itself.
 *
 * @example
 * ```ts
 * import { ipv4, rssHash4 } from "./devices.ts";
 * const h = rssHash4(ipv4("66.9.149.187"), ipv4("161.142.100.80"), 2794, 1766);
 * h === 0x51ccc178; // the reference vector
 * ```
 * @module
 */
export { Nic, type NicOptions, type Peer } from "./nic.ts";
export {
  type HostLink,
  type SinkOptions,
  type SourceOptions,
  TcpSink,
  TcpSource,
  UdpSink,
  UdpSource,
} from "./hosts.ts";
export { ipv4, MS_RSS_KEY, RSS_TABLE_SIZE, rssHash2, rssHash4, RssTable, toeplitz } from "./rss.ts";
