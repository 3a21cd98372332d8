import type { ControlRoute } from '../route.ts';
import { directoryRoutes } from './directory.ts';
import { policyRoutes } from './policy.ts';
import { runtimeRoutes } from './runtime.ts';
import { statusRoutes } from './status.ts';
import { trafficRoutes } from './traffic.ts';

/** Every route, matched in this order (`/api/log/har` before `/api/log/:id`). */
export const CONTROL_ROUTES: readonly ControlRoute[] = [
  ...statusRoutes,
  ...policyRoutes,
  ...directoryRoutes,
  ...trafficRoutes,
  ...runtimeRoutes,
];
