import type { Token } from "node-llama-cpp";
import type { ModelInfo } from "../models/catalog.ts";
import type { LoadedModel } from "../engine/loaded-model.ts";
import { ModelPool, type HoldOptions, type SequenceLease } from "../engine/model-pool.ts";

/**
 * The model pool, counting the sequences leased out for the busy-sequences gauge. Every
 * generation takes its sequence through lease(), so leases not yet released are the sequences at
 * work; a count stuck above zero once the server is quiet is a leaked sequence.
 */
export class LeaseCountingPool extends ModelPool {
  private leased = 0;

  busy(): number {
    return this.leased;
  }

  override async lease<P extends { prompt: readonly Token[] }>(info: ModelInfo, options: HoldOptions, prepare: (loaded: LoadedModel) => P): Promise<{ lease: SequenceLease; plan: P }> {
    const { lease, plan } = await super.lease(info, options, prepare);
    this.leased++;
    const release = () => {
      this.leased--;
      lease.release();
    };
    return { lease: { ...lease, release }, plan };
  }
}
