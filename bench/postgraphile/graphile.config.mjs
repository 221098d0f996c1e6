// PostGraphile over the benchmark database (bench/geo.sh): production mode, no GraphiQL, no
// watch, no explain; a pool as large as the registry's (16).
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";

export default {
  extends: [PostGraphileAmberPreset],
  pgServices: [
    makePgService({
      connectionString: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1/rr_bench",
      schemas: ["public"],
      poolConfig: { max: 16 },
    }),
  ],
  grafserv: {
    host: "127.0.0.1",
    port: Number(process.env.PORT ?? 5050),
    graphiql: false,
    watch: false,
  },
  grafast: { explain: false },
};
