// Entry point of the pack stage bundle (//modules/pack:stage): `node stage.bundle.js run --stage=… --config=… --input=dataset=…`.
import { runStageMain } from "@nexa/modules/stage";

import { packStage } from "./pack_stage";

void runStageMain(packStage);
