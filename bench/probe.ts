/**
 * A load in its own process, so that measuring one endpoint's latency is not disturbed by the
 * harness driving another load at the same time. Reads options as JSON from argv, reports the
 * autocannon result over IPC.
 */
import autocannon, { type Options } from 'autocannon';

const options = JSON.parse(process.argv[2]!) as Options;
const result = await autocannon(options);
process.send?.(result, () => process.exit(0));
