// A short report of what the person just did ("You approved the offer …"), shown above the
// page so it outlives the list row the action was in, with a link where there is more to do.
import { createContext, useCallback, useContext, useRef, useState, type ReactNode } from "react";
import { Link } from "react-router-dom";
import { Notice } from "./components/common";

export interface Flash {
  text: string;
  /** Where the person can go next (the ticket, or the way back). */
  link?: { to: string; label: string };
}

const FlashContext = createContext<(flash: Flash) => void>(() => {});

/** Shows `flash`, replacing any shown before. */
export function useFlash(): (flash: Flash) => void {
  return useContext(FlashContext);
}

export function FlashProvider({ children }: { children: ReactNode }) {
  const [shown, setShown] = useState<(Flash & { key: number }) | null>(null);
  const count = useRef(0);
  const show = useCallback((flash: Flash) => setShown({ ...flash, key: ++count.current }), []);
  const clear = useCallback(() => setShown(null), []);
  return (
    <FlashContext.Provider value={show}>
      {children}
      {shown && (
        <Notice key={shown.key} onDone={clear} ms={15_000}>
          {shown.text}
          {shown.link && (
            <>
              {" "}
              <Link to={shown.link.to} onClick={clear}>
                {shown.link.label}
              </Link>
            </>
          )}
        </Notice>
      )}
    </FlashContext.Provider>
  );
}
