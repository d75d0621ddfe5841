/**
 * The picture alone, for the browser bench (test/dashboard/picture.bench.test.ts): draws the
 * fixture space and says how long it took, from data to a laid-out page. Its anchor draws the
 * same dynos as a plain HTML table (the floor: what any page listing them pays).
 */
import { render, type JSX } from 'preact'
import { fixtureSpace } from './fixture.js'
import { Picture } from './picture.js'
import type { PictureInput } from './model.js'

function Table({ input }: { input: PictureInput }) {
  return (
    <table>
      <tbody>
        {input.apps.flatMap((a) =>
          a.processes.flatMap((p) =>
            p.dynos.map((d) => (
              <tr key={`${a.name}/${d.name}`}>
                <td>{a.name}</td>
                <td>{d.name}</td>
                <td>{d.state}</td>
                <td>{d.privateIp}</td>
                <td>{d.hostname}</td>
              </tr>
            )),
          ),
        )}
      </tbody>
    </table>
  )
}

function timed(draw: (input: PictureInput) => JSX.Element) {
  return (apps: number, dynos: number): number => {
    const root = document.getElementById('root')!
    render(null, root)
    const input = fixtureSpace(apps, dynos)
    const start = performance.now()
    render(draw(input), root)
    // Reading a size makes the browser lay the page out: the picture is drawn, not just built.
    root.getBoundingClientRect()
    return performance.now() - start
  }
}

Object.assign(window, {
  drawPicture: timed((input) => <Picture input={input} />),
  drawTable: timed((input) => <Table input={input} />),
})
