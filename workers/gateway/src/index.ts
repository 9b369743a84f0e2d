export default { fetch: () => new Response("todo") } satisfies ExportedHandler;
