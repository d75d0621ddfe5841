/**
 * The picture alone, for the browser bench (test/dashboard/picture.bench.test.ts): draws the
 * fixture space and says how long it took, from data to a laid-out page.
 */
import { render } from 'preact'
import { fixtureSpace } from './fixture.js'
import { Picture } from './picture.js'

declare global {
  interface Window {
    drawPicture: (apps: number, dynos: number) => number
  }
}

window.drawPicture = (apps, dynos) => {
  const root = document.getElementById('root')!
  render(null, root)
  const input = fixtureSpace(apps, dynos)
  const start = performance.now()
  render(<Picture input={input} />, root)
  // Reading a size makes the browser lay the page out: the picture is drawn, not just built.
  root.getBoundingClientRect()
  return performance.now() - start
}
