// Transition `{{name}}`: reads the request in `start`, answers it in `done`.
import { Decision, Firing, log, transition } from "petrel-guest";

interface Request {
  message: string;
}

export const decide = transition((firing: Firing): Decision => {
  const request = firing.input<Request>("start");
  log.info(`${firing.caseId}: got ${JSON.stringify(request.message)}`);
  const reply = { message: request.message, reply: `hello from TypeScript: ${request.message}` };
  return Decision.fire("done").token("done", reply);
});
