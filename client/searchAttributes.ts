// `agentscale search-attributes`: the attributes runs set for the Temporal UI's filters
// (core/searchAttributes.ts), registered on the configured namespace. Every command already
// registers them where missing when it connects; this one says what it found, and where the server
// refuses (Temporal Cloud, a namespace without operator rights) prints the commands that do it.
import type { Config } from '../core/config';
import { SEARCH_ATTRIBUTE_TYPES } from '../core/searchAttributes';
import { searchAttributeCommands } from '../runtime/temporal';
import { EXIT } from './exitCodes';
import { withClient } from './job';
import { printJson } from './output';

export function searchAttributesCommand(config: Config, opts: { json?: boolean }): Promise<number> {
  return withClient(config, async (server) => {
    const commands = searchAttributeCommands(server.namespace);
    if (opts.json) {
      printJson({
        namespace: server.namespace,
        registered: server.searchAttributes,
        attributes: SEARCH_ATTRIBUTE_TYPES,
        ...(server.searchAttributes ? {} : { commands }),
      });
    } else if (server.searchAttributes) {
      console.log(`namespace ${server.namespace} has every search attribute runs set:`);
      for (const [name, type] of Object.entries(SEARCH_ATTRIBUTE_TYPES)) console.log(`  ${name} ${type}`);
    } else {
      console.log(
        `the server did not let this process register search attributes on namespace ${server.namespace}; ` +
          'runs work without them (the UI lists them by workflow id). To register them, on a self-hosted cluster:',
      );
      for (const c of commands.cluster) console.log(`  ${c}`);
      console.log('on Temporal Cloud (or in its web UI, Namespaces > Search attributes):');
      for (const c of commands.cloud) console.log(`  ${c}`);
    }
    return server.searchAttributes ? EXIT.ok : EXIT.error;
  });
}
