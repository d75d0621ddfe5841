import { Command } from 'commander'

/** Builds the CLI; each command talks to the API over HTTP only. */
export function buildProgram(): Command {
  return new Command('localspace').description('Heroku-style Private Spaces on your own servers')
}
