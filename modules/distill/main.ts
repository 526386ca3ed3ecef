// Entry point of the distill stage bundle (//modules/distill:stage): `node stage.bundle.js run --stage=… --config=…
// --input=dataset=… --input=teacher=…`.
import { runStageMain } from "@nexa/modules/stage";

import { distillStage } from "./distill_stage";

void runStageMain(distillStage);
